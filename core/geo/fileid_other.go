//go:build !unix

package geo

import "os"

// fileID identifies one version of a file by size and modification time
// (no inode outside Unix).
type fileID struct {
	size  int64
	mtime int64 // nanoseconds
}

func statFile(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}
