package store

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Chunk codecs (event_chunks.codec).
const (
	codecPlain = 0
	codecS2    = 1
)

// compressAbove is the body size from which chunks are compressed; the
// JSON lines of one job repeat their keys and shapes and shrink several
// times, which is fewer bytes for SQLite to write. S2 is chosen for speed:
// it compresses at GB/s, so it costs far less than the bytes it saves.
const compressAbove = 512

// encodeChunk returns how to store body; a compressed body is written into
// dst, which must hold s2.MaxEncodedLen(len(body)) bytes.
func encodeChunk(dst, body []byte) (int, []byte) {
	if len(body) < compressAbove {
		return codecPlain, body
	}
	return codecS2, s2.Encode(dst, body)
}

func decodeChunk(codec int, stored []byte) ([]byte, error) {
	switch codec {
	case codecPlain:
		return stored, nil
	case codecS2:
		body, err := s2.Decode(nil, stored)
		if err != nil {
			return nil, fmt.Errorf("decompress event chunk: %w", err)
		}
		return body, nil
	default:
		return nil, fmt.Errorf("unknown event chunk codec %d", codec)
	}
}
