package web

// TFor exposes the message catalogue to the external tests.
var TFor = T

// Messages exposes the catalogue to check it is complete.
var Messages = messages
