"""Local emulators of the GitHub REST and Linear GraphQL APIs, over real HTTP on loopback."""
