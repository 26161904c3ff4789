from compat_diff.cli import main

if __name__ == "__main__":
    main()
