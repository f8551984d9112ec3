// Package defaults fills the zero fields of a Config with their documented
// defaults, the one rule every ssokit Config follows: a zero value means
// the default.
package defaults

// Set stores def in *v when *v is the zero value of its type.
func Set[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
