// Package sdkupgrade tests that a tablet's store written by an earlier SDK
// keeps working after the app is upgraded: real data directories made by
// the old code (testdata) are opened by this SDK and synced to the server's
// real engine and API, in process. It has no code outside its tests.
package sdkupgrade
