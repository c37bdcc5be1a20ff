package feeds

import "os"

// WithFailingDisk makes DownloadGeoIP's temporary file refuse writes with
// err once n bytes are written, as a full disk does.
func WithFailingDisk(n int, err error) GeoIPOption {
	return func(c *geoipConfig) error {
		c.createTemp = func(dir, pattern string) (tempFile, error) {
			f, e := os.CreateTemp(dir, pattern)
			if e != nil {
				return nil, e
			}
			return &failingFile{File: f, left: n, err: err}, nil
		}
		return nil
	}
}

type failingFile struct {
	*os.File
	left int
	err  error
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) <= f.left {
		f.left -= len(b)
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:f.left])
	f.left = 0
	return n, f.err
}
