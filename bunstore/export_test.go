package bunstore

// ColumnLimits exposes columnLimits to the tests of package bunstore_test.
var ColumnLimits = columnLimits

// SetPurgeChunk sets the chunk size of DeleteEventsBefore(…, 0) and returns
// a function that restores it.
func SetPurgeChunk(n int) (restore func()) {
	old := purgeChunk
	purgeChunk = n
	return func() { purgeChunk = old }
}
