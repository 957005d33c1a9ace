// Package operate holds what the command line and the dashboard both do to an Application:
// read its environments, pick a rollback's revision, find what waits for approval, write
// the annotations and patches that ask the controller to act, and show revisions and
// objects safely. One implementation, so that a button and a command never disagree.
package operate
