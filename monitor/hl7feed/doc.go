// Package hl7feed bridges the hospital's HL7 v2 monitors into the feed: an
// MLLP server (server.go) takes IHE PCD-01 reports (ORU^R01), Map turns
// each into the bed's status and its numerics in the feed's codes and units
// (map.go, codes.go: MDC and private codes), publishes them and answers with
// an ACK. A message is used whole or refused whole, with a counted, logged
// reason. The patient's MRN goes into the status, never the name.
package hl7feed
