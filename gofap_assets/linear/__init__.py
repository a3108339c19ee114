"""The Linear half of the importer: GraphQL client, models, incremental sync and assets."""
