package discovery

// DomainIndexBytes returns the memory of t's email domain index, for the
// benchmark's report.
func DomainIndexBytes(t *Table) int { return t.domains.bytes() }
