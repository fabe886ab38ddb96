package postgres

// Redact exposes redact to the external tests.
var Redact = redact
