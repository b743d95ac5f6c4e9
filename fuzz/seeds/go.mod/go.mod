module github.com/user/app

go 1.22

toolchain go1.22.1

require github.com/pkg/errors v0.9.1

require (
	golang.org/x/net v0.0.0-20240208230135-b75ee8823808 // indirect
	github.com/docker/docker v24.0.7+incompatible
	github.com/user/local v1.0.0
	gopkg.in/yaml.v3 v3.0.1 // indirect; used by tests
)

replace github.com/user/local => ../local

replace (
	github.com/pkg/errors v0.9.1 => github.com/fork/errors v0.9.2
)

exclude golang.org/x/net v0.0.1

retract v1.0.1 // broken
