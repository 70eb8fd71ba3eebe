package personaldata

import "fmt"

// FromEvent is the SQL expression a projection statement writes a read model's column
// of personal data with: field of the payload of the event the statement applies
// (streamType; the stream id and version are the statement's parameters idParam and
// versionParam), sealed as the log keeps it. The read model copies it in the database
// from the row its transaction inserted: the ciphertext crosses the network once, in
// the event, and a read model can hold nothing in clear, since the log refuses it
// (HasClear). Events without the field give NULL.
func FromEvent(streamType, field, idParam, versionParam string) string {
	return fmt.Sprintf(`(SELECT e.payload->'%s' FROM events e WHERE e.stream_type = '%s' AND e.stream_id = %s::uuid::text AND e.stream_version = %s)`,
		field, streamType, idParam, versionParam)
}
