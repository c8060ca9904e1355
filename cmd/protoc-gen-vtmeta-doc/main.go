// Command protoc-gen-vtmeta-doc is a protoc plugin that writes the API
// reference (docs/api.md) from the proto API's comments and options; buf
// runs it from `make generate` (see proto/buf.gen.yaml).
package main

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/vtmeta/vtmeta/internal/apidoc"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
		page, err := apidoc.Generate(gen.Files)
		if err != nil {
			return err
		}
		_, err = gen.NewGeneratedFile(apidoc.FileName, "").Write(page)
		return err
	})
}
