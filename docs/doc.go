// Package docs holds Landfall's documentation. Its tests keep the repository's Markdown honest:
// every relative link resolves, and nothing points outside the repository.
package docs
