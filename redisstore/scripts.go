package redisstore

import "github.com/redis/go-redis/v9"

// The store's server-side scripts. Each reads and writes exactly one key,
// KEYS[1], so that it runs on Redis Cluster whatever the slots (see the
// package comment). go-redis sends them by SHA1 (EVALSHA) and falls back
// to EVAL when a server does not know them yet.
//
// A session is a hash: d data, e expiry (Unix ms), v version, u user,
// x how far (Unix ms) the user's set covers the session.

// createScript stores a new session unless a live one has the key.
// ARGV: data, expiry, now (ms). Returns 1 when stored, 0 when the key
// exists.
var createScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2], 'v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

// updateScript replaces an existing session's data and expiry.
// ARGV: data, expiry, version (the empty string for any), remove ('1' deletes the
// session instead: its expiry has passed), user and until (the user's set
// now covers the session until then, the empty string if not raised).
// Returns {1, version} when written, {0} when the session is gone, {-1} on
// a version conflict, {2, user} when removed, and {-2, user} when the
// session is linked to user and its new expiry passes x: the caller raises
// the entry in user's set and calls again with user and until.
var updateScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'v', 'u', 'x')
if not h[1] then return {0} end
if ARGV[3] ~= '' and h[1] ~= ARGV[3] then return {-1} end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  return {2, h[2] or ''}
end
if h[2] then
  local x = tonumber(h[3] or '0')
  if ARGV[5] == h[2] and tonumber(ARGV[6]) > x then
    x = tonumber(ARGV[6])
    redis.call('HSET', KEYS[1], 'x', ARGV[6])
  end
  if tonumber(ARGV[2]) > x then return {-2, h[2]} end
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {1, v}
`)

// deleteScript deletes a session and returns its user (the empty string if none).
var deleteScript = redis.NewScript(`
local u = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  u = redis.call('HGET', KEYS[1], 'u')
end
redis.call('DEL', KEYS[1])
return u or ''
`)

// linkScript records a session's user. ARGV: user, until (the user's set
// covers the session until then). Returns {1, previous user or the empty string} when
// linked, {0} when the session is gone, {-2, expiry} when the session
// expires after until (the caller raises the entry and calls again).
var linkScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'e', 'u')
if not h[1] then return {0} end
if tonumber(h[1]) > tonumber(ARGV[2]) then return {-2, h[1]} end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'x', ARGV[2])
return {1, h[2] or ''}
`)

// unlinkScript removes a session's user and returns it (the empty string if none).
var unlinkScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return '' end
local u = redis.call('HGET', KEYS[1], 'u')
if not u then return '' end
redis.call('HDEL', KEYS[1], 'u', 'x')
return u
`)

// indexScript raises (never lowers) a session's entry in a user's set
// (KEYS[1]), drops the entries whose score has passed, and sets the set's
// expiry at its highest score. ARGV: session key, until, now (ms).
var indexScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[1], top[2]) end
return 1
`)

// deleteOwnedScript deletes a session only if it belongs to the user.
// ARGV: user, now (ms). Returns 1 when a live session was deleted, 2 when
// an expired one was, 0 when there is none, -1 when it belongs to nobody or
// someone else (it stays, and so does its entry: a link may be under way).
var deleteOwnedScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'hash' then return -1 end
local h = redis.call('HMGET', KEYS[1], 'u', 'e')
if h[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
if tonumber(h[2] or '0') > tonumber(ARGV[2]) then return 1 end
return 2
`)
