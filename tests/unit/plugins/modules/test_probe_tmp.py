def test_x(fixture_store):
    print(fixture_store)
