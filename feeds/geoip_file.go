package feeds

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// extractMMDB returns the database in b: b itself, b gunzipped, or the first
// .mmdb file of a gzipped tar, each at most limit bytes.
func extractMMDB(b []byte, limit int64) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, errorf(ErrNotDatabase, "not valid gzip: %v", err)
	}
	raw, err := readAtMost(zr, limit, "decompressed")
	if err != nil {
		return nil, err
	}
	if len(raw) < 262 || string(raw[257:262]) != "ustar" {
		return raw, nil
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errorf(ErrNotDatabase, "the archive holds no .mmdb file")
		}
		if err != nil {
			return nil, errorf(ErrNotDatabase, "broken tar archive: %v", err)
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".mmdb") {
			return readAtMost(tr, limit, "in the archive")
		}
	}
}

func readAtMost(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, errorf(ErrNotDatabase, "broken archive (%s): %v", what, err)
	}
	if int64(len(b)) > limit {
		return nil, errorf(ErrTooLarge, "%s: more than %d bytes", what, limit)
	}
	return b, nil
}

// tempFile is what replaceFile needs of an *os.File.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

func osCreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

// replaceFile writes b to a temporary file beside path, syncs it, gives it
// mtime (when not zero) and path's mode (0644 for a new file) and renames
// it over path, then syncs the directory: a reader sees the old file or the
// new one, never a part. On error the temporary file is removed.
func replaceFile(cfg *geoipConfig, path string, b []byte, mtime time.Time) error {
	dir := filepath.Dir(path)
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := cfg.createTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return &kindError{err: fmt.Errorf("writing beside %s: %w", path, err), kind: ErrWriteFile}
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(tmp, mtime, mtime)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return &kindError{err: fmt.Errorf("writing %s: %w", path, err), kind: ErrWriteFile}
	}
	if d, err := os.Open(dir); err == nil { // the rename is done: a failed directory sync cannot undo it
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
