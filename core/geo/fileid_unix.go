//go:build unix

package geo

import (
	"os"
	"syscall"
)

// fileID identifies one version of a file: a rename replaces the inode, an
// in-place rewrite changes size or modification time.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

func statFile(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev = uint64(st.Dev) //nolint:unconvert // Dev is int32 on some platforms
		id.ino = uint64(st.Ino) //nolint:unconvert // Ino is uint32 on some platforms
	}
	return id, nil
}
