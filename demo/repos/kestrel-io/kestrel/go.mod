module github.com/kestrel-io/kestrel

go 1.22

require (
	github.com/spf13/cobra v1.8.1
	golang.org/x/sync v0.8.0
	google.golang.org/grpc v1.67.1
)
