// Package render turns an application folder of a checkout into the Kubernetes objects to
// apply, without a cluster: Kustomize, Helm or plain manifests, detected from the folder.
//
// Detection: a kustomization.yaml, kustomization.yml or Kustomization file means Kustomize
// (krusty, in-process); a Chart.yaml means Helm (the Helm v3 template engine, client-only);
// anything else is a folder of plain YAML or JSON manifests, read recursively in path order.
//
// Confinement: nothing outside Input.Root is read. Absolute paths, ".." that climbs out and
// symbolic links that lead out are errors naming the path. Kustomize remote bases and HTTP
// resources, Helm inside Kustomize, and Helm chart dependencies that are not vendored in
// charts/ are refused: a render never reaches the network. File sizes, bytes read, bytes and
// objects rendered and YAML alias expansion are bounded (Limits).
//
// Helm hooks are not applied. An object with a "helm.sh/hook" annotation (pre/post-install,
// pre/post-upgrade, test hooks and every other kind) is left out of Result.Objects and named
// in Result.SkippedHooks. Landfall applies a release as one declarative set with server-side
// apply; there is no install or upgrade lifecycle for hooks to run in.
//
// Namespaces: a namespaced object without a namespace gets Input.Namespace. A namespaced
// object aimed at another namespace is refused unless that namespace is in
// Policy.AllowedNamespaces ("*" allows any). A cluster-scoped object is refused unless
// Policy.AllowClusterScoped is set; the one exception is a Namespace object for the target
// namespace or an allowed one. Whether a kind is namespaced is decided by Input.Scope when it
// knows (the controller backs it with the cluster's RESTMapper), else by the scope of a
// CustomResourceDefinition in the same render, else by a built-in table of cluster-scoped
// kinds; anything else is namespaced. A cluster-scoped object loses any metadata.namespace.
//
// Output: objects are sorted (Namespaces, then CRDs, then by group, kind, namespace and name);
// two objects with the same identity are an error.
//
// Cache: an Engine remembers each render under the app path and a digest of the environment
// inputs, with the revision and the list of everything the render read (files, folder
// listings, existence checks) with their digests. The same revision is answered from the
// cache; a new revision is answered from the cache when everything the previous render read is
// unchanged, so a commit re-renders only the applications whose files it touched.
package render
