module github.com/vtmeta/vtmeta/services/cell

go 1.26.0

replace (
	github.com/vtmeta/vtmeta => ../..
	github.com/vtmeta/vtmeta/proto => ../../proto
)
