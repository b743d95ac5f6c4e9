module github.com/palisade/palisade-scanner

go 1.22

require (
	github.com/spf13/cobra v1.8.1
	github.com/kestrel-io/kestrel v0.13.0
)
