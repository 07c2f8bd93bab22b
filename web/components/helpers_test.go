package components

import "math"

func mathNaN() float64 { return math.NaN() }
