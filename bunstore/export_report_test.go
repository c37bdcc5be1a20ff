package bunstore

// SetPostgresVersion makes s build its SQL for another PostgreSQL version
// (server_version_num), so the fallbacks for older servers run in tests.
func SetPostgresVersion(s *Store, v int) { s.pgVer = v }
