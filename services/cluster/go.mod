module github.com/vtmeta/vtmeta/services/cluster

go 1.26.0

require (
	github.com/vtmeta/vtmeta v0.0.0
	github.com/vtmeta/vtmeta/proto v0.0.0
)

replace (
	github.com/vtmeta/vtmeta => ../..
	github.com/vtmeta/vtmeta/proto => ../../proto
)
