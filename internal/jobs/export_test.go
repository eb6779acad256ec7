package jobs

// PrevTick exposes prevTick to the external tests.
var PrevTick = prevTick
