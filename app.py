"""poetgen's web page: `python app.py` (same as `poetgen serve`), then open http://127.0.0.1:7860"""

from poetgen.app.serve import main

if __name__ == "__main__":
    main()
