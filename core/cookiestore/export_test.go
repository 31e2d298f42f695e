package cookiestore

// MinCompressLength exposes minCompressLength to the external tests.
const MinCompressLength = minCompressLength
