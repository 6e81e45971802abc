"""What the tests share besides fixtures: the real CLI in a child process, datasets made on the spot, inputs of
every awkward kind, faulty engines, tiny models and a real multi-node cluster. Test modules import from here,
never from one another."""
