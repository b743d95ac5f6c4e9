module github.com/kestrel-io/kestrel-operator

go 1.22

require (
	github.com/kestrel-io/kestrel v0.14.2
	github.com/spf13/cobra v1.8.1
)
