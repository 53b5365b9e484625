"""The repair environment: action grammar, observation text, reward, episodes."""
