package web

// FormatHundredths exposes the pages' number format to the console's tests.
var FormatHundredths = formatHundredths
