module github.com/northwind/checkout-api

go 1.22

require (
	github.com/spf13/cobra v1.8.1
	github.com/kestrel-io/kestrel v0.14.2
	golang.org/x/sync v0.8.0
)
