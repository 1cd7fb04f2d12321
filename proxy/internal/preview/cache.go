package preview

import (
	"container/list"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// Cache keeps rendered previews by key (service, the service's ID for the
// photo, the rendition): a bounded LRU in memory and, optionally, a bounded
// directory of files sealed with XChaCha20-Poly1305 under K_previews, whose
// names are keyed hashes of the keys, so the disk shows neither photos nor
// which photos they are. It is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	maxMem   int64
	mem      int64
	lru      *list.List // of *entry, most recent first
	byKey    map[string]*list.Element
	dir      string
	maxDisk  int64
	disk     int64
	aead     cipher.AEAD
	nameKey  []byte
	diskErrs int
}

type entry struct {
	key  string
	data []byte
}

// NewCache returns a cache of at most maxMem bytes in memory. With dir
// set and maxDisk > 0 it also keeps up to maxDisk bytes in dir, sealed
// under key (32 bytes); dir is created with mode 0700.
func NewCache(maxMem int64, dir string, maxDisk int64, key []byte) (*Cache, error) {
	c := &Cache{maxMem: maxMem, lru: list.New(), byKey: map[string]*list.Element{}}
	if dir == "" || maxDisk <= 0 {
		return c, nil
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("preview cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("preview cache: %w", err)
	}
	c.dir, c.maxDisk, c.aead = dir, maxDisk, aead
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("file names"))
	c.nameKey = mac.Sum(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	files, err := c.diskFiles()
	if err != nil {
		return nil, fmt.Errorf("preview cache: %w", err)
	}
	for _, f := range files {
		c.disk += f.size
	}
	c.trimDisk(files)
	return c, nil
}

// Get returns the preview stored under key.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*entry).data, true
	}
	if c.dir == "" {
		return nil, false
	}
	sealed, err := os.ReadFile(c.path(key))
	if err != nil || len(sealed) < c.aead.NonceSize() {
		return nil, false
	}
	ns := c.aead.NonceSize()
	data, err := c.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(key))
	if err != nil {
		// Not ours, or damaged: forget it.
		os.Remove(c.path(key))
		c.disk -= int64(len(sealed))
		return nil, false
	}
	c.putMem(key, data)
	return data, true
}

// Put stores data under key, in memory and on disk.
func (c *Cache) Put(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putMem(key, data)
	if c.dir == "" || int64(len(data)) > c.maxDisk {
		return
	}
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(data)+c.aead.Overhead())
	rand.Read(nonce)
	sealed := c.aead.Seal(nonce, nonce, data, []byte(key))
	p := c.path(key)
	if old, err := os.Stat(p); err == nil {
		c.disk -= old.Size()
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, sealed, 0o600); err != nil || os.Rename(tmp, p) != nil {
		os.Remove(tmp)
		c.diskErrs++
		return
	}
	c.disk += int64(len(sealed))
	if c.disk > c.maxDisk {
		if files, err := c.diskFiles(); err == nil {
			c.trimDisk(files)
		}
	}
}

// PutMemory stores data under key in memory only.
func (c *Cache) PutMemory(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putMem(key, data)
}

// DiskErrors counts previews that could not be written to disk.
func (c *Cache) DiskErrors() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diskErrs
}

func (c *Cache) putMem(key string, data []byte) {
	if int64(len(data)) > c.maxMem {
		return
	}
	if el, ok := c.byKey[key]; ok {
		c.mem -= int64(len(el.Value.(*entry).data))
		el.Value.(*entry).data = data
		c.lru.MoveToFront(el)
	} else {
		c.byKey[key] = c.lru.PushFront(&entry{key: key, data: data})
	}
	c.mem += int64(len(data))
	for c.mem > c.maxMem {
		el := c.lru.Back()
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		c.mem -= int64(len(e.data))
	}
}

// path is where key is kept on disk.
func (c *Cache) path(key string) string {
	mac := hmac.New(sha256.New, c.nameKey)
	mac.Write([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(mac.Sum(nil))+".preview")
}

type diskFile struct {
	path string
	size int64
	mod  int64
}

func (c *Cache) diskFiles() ([]diskFile, error) {
	var files []diskFile
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".preview" {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files = append(files, diskFile{p, fi.Size(), fi.ModTime().UnixNano()})
		return nil
	})
	return files, err
}

// trimDisk removes the oldest files until the disk part fits.
func (c *Cache) trimDisk(files []diskFile) {
	sort.Slice(files, func(i, j int) bool { return files[i].mod < files[j].mod })
	for _, f := range files {
		if c.disk <= c.maxDisk {
			return
		}
		if os.Remove(f.path) == nil {
			c.disk -= f.size
		}
	}
}
