package api

// SpecYAML returns openapi.yaml as it was when the code was generated, byte for byte,
// for GET /openapi.yaml. (GetSwagger returns the parsed document, which re-encodes
// differently.)
func SpecYAML() ([]byte, error) { return decodeSpecCached()() }
