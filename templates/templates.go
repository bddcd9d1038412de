// Package templates holds all markup of aispend: email and site templates, embedded in the
// binary and parsed once at start-up so that a broken template fails fast.
package templates
