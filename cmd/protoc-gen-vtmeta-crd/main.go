// Command protoc-gen-vtmeta-crd is a protoc plugin that writes the
// CustomResourceDefinitions of the vtmeta kinds from the proto API; buf runs
// it from `make generate` (see proto/buf.gen.yaml).
package main

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/vtmeta/vtmeta/internal/crdgen"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
		files, err := crdgen.Generate(gen.Files)
		if err != nil {
			return err
		}
		for _, f := range files {
			if _, err := gen.NewGeneratedFile(f.Name, "").Write(f.Content); err != nil {
				return err
			}
		}
		return nil
	})
}
