module github.com/wardenkit/warden/bench

go 1.26.0

require (
	github.com/ulule/limiter/v3 v3.11.2
	github.com/wardenkit/warden v0.0.0-00010101000000-000000000000
)

require github.com/pkg/errors v0.9.1 // indirect

replace github.com/wardenkit/warden => ../
