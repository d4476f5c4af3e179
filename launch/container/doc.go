// Package container runs a task as a Docker container with the same
// promise exec gives processes: a deadline, signals forwarded, the
// container stopped (signal, grace, kill) and removed at the end, labels
// that let sweep find it if its supervisor dies, and a registry record.
//
// It uses the official client (github.com/docker/docker/client), configured
// from the environment (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, DOCKER_API_VERSION), so remote engines work. It is
// linked only into the watchdog-docker binary: the native exec path never
// pays for the client's package initialisation.
//
// It never pulls images and never touches a container without the
// watchdog's labels.
package container
