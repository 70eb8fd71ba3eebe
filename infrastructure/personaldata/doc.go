// Package personaldata seals personal data (kit.Personal) before it is stored and opens
// it for the responses that show it, with one data key per data subject. Data keys live
// in personal_data_keys wrapped by a key encryption key (KEK) from configuration; erasing
// a subject deletes its key, so what was sealed under it cannot be opened anywhere: the
// log, the read models, snapshots, backups.
//
// Opening keeps nothing between calls: every open reads the key from the database, so
// an erasure is seen at once by every replica. Sealing keeps the data key it last used
// per subject, to save a round trip, and has the transaction check it is still the
// subject's (an erased key is never used again). The key hierarchy,
// what is sealed and what erasure can and cannot promise are in docs/architecture.md,
// "Personal data".
package personaldata
