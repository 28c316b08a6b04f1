package events

// AppendString appends s as a JSON string, escaped as encoding/json
// escapes it (the streams build their messages with it, without boxing
// each string in an any for AppendValue).
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// AppendFloat appends f as encoding/json formats it (NaN and ±Inf: null).
func AppendFloat(b []byte, f float64) []byte { return appendFloat(b, f) }
