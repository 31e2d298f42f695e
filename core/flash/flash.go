// Package flash keeps one-time messages in the session ("Added to cart"),
// Django's messages framework over the session storage: Add queues a
// message, Read returns the queued messages once and removes them.
package flash

import (
	"github.com/cloakroom/cloakroom/core"
)

// Key is the session key under which messages are queued.
const Key = "_flash"

// Levels, as Django names them.
const (
	Info    = "info"
	Success = "success"
	Warning = "warning"
	Error   = "error"
)

// Message is one queued message.
type Message struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// MaxQueued bounds the queue: older messages are dropped beyond it, so a
// session never grows without limit.
const MaxQueued = 20

// Add queues a message at level. It is safe under concurrent requests of the
// session when Config.Optimistic is on (it uses core.Modify).
func Add(s *core.Session, level, text string) error {
	return core.Modify(s, Key, func(q []Message, _ bool) ([]Message, error) {
		q = append(q, Message{Level: level, Text: text})
		if len(q) > MaxQueued {
			q = q[len(q)-MaxQueued:]
		}
		return q, nil
	})
}

// Read returns the queued messages and removes them from the session. It
// returns nil, without touching the session's modified state, when none are
// queued.
func Read(s *core.Session) ([]Message, error) {
	var q []Message
	ok, err := s.Pop(Key, &q)
	if !ok {
		return nil, err
	}
	return q, err
}
