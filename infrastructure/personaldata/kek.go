package personaldata

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KEK is a key encryption key: it wraps data keys for storage and unwraps them. A
// LocalKEK holds the key itself; a KMS client would implement the same three methods
// and keep the key in the KMS.
type KEK interface {
	// ID names the key in each wrapped data key's row, so that a row wrapped by another
	// key is recognised instead of opened as garbage.
	ID() string
	Wrap(dataKey []byte) ([]byte, error)
	Unwrap(wrapped []byte) ([]byte, error)
}

// LocalKEK is a 32-byte AES-256-GCM key from configuration.
type LocalKEK struct {
	id   string
	aead cipher.AEAD
}

// NewLocalKEK takes the 32 bytes of a key.
func NewLocalKEK(key []byte) (*LocalKEK, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("a key encryption key is 32 bytes, not %d", len(key))
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("personal-data-kek\x00"), key...))
	return &LocalKEK{id: "local:" + hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// ParseKEK reads a key as configured: base64 (standard or URL alphabet, padded or not)
// of 32 bytes, surrounding space ignored.
func ParseKEK(text string) (*LocalKEK, error) {
	s := strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return NewLocalKEK(b)
		}
	}
	return nil, errors.New("a key encryption key is base64 of 32 random bytes (openssl rand -base64 32)")
}

// LoadKEK reads the key from value, or else from the file named by file; neither set
// gives nil (no key configured).
func LoadKEK(value, file string) (*LocalKEK, error) {
	switch {
	case value != "" && file != "":
		return nil, errors.New("set the key or its file, not both")
	case file != "":
		b, err := os.ReadFile(file) // #nosec G304 -- the operator names the file
		if err != nil {
			return nil, err
		}
		return ParseKEK(string(b))
	case value != "":
		return ParseKEK(value)
	}
	return nil, nil
}

// NewKEKText returns a new random key as configuration holds it (make run's dev key).
func NewKEKText() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ID names the key: a hash of it, which tells keys apart without revealing them.
func (k *LocalKEK) ID() string { return k.id }

// Wrap seals a data key: a random nonce, then the ciphertext; the KEK's id is bound in.
func (k *LocalKEK) Wrap(dataKey []byte) ([]byte, error) {
	return seal(k.aead, dataKey, []byte(k.id))
}

// Unwrap opens a wrapped data key; a key wrapped by another KEK fails authentication.
func (k *LocalKEK) Unwrap(wrapped []byte) ([]byte, error) {
	return open(k.aead, wrapped, []byte(k.id))
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal is AES-GCM with a random 96-bit nonce in front of the ciphertext.
func seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed data is too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}
