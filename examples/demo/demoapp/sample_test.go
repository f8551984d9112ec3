package demoapp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite sample-config.json from the built-in setup")

const sampleFile = "../sample-config.json"

// TestSampleConfigIsBuiltin keeps sample-config.json equal to the built-in
// setup, so the documented file is the one the demo runs.
func TestSampleConfigIsBuiltin(t *testing.T) {
	want := builtinConfig()
	if *update {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sampleFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := LoadConfig(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s differs from builtinConfig(); run go test ./examples/demo -run TestSampleConfigIsBuiltin -update", sampleFile)
	}
}
