"""poetgen's web page: `python app.py` (same as `poetgen serve`), then open http://127.0.0.1:7860"""

from poetgen.app.page import main

if __name__ == "__main__":
    main()
