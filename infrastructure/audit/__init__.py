"""The audit trail (adr/0015, adr/0016): what auditors read and check. The tamper evidence, a hash
chain over the event log with anchors of its head outside the database, is in `chain`,
`anchors` and `verification` (adr/0015)."""
