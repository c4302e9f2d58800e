"""Classify image files with a model served by TF Serving's REST API (standard library only).

    python examples/serve_rest.py cat.jpg dog.png --model resnet56 [--url http://localhost:8501]

Start the server first (docs/serving.md): it serves `keras-resnet export`'s directories. The
images go to the `serving_bytes` signature as base64 (`{"b64": ...}`), so any size of JPEG or PNG works:
the graph decodes and resizes them. Prints each file's top-k labels and scores.
"""

import argparse
import base64
import json
import urllib.request


def predict(paths, model, url="http://localhost:8501", timeout=30):
    """POST the files to `<url>/v1/models/<model>:predict`; return TF Serving's `predictions` list."""
    instances = []
    for path in paths:
        with open(path, "rb") as file:
            instances.append({"image_bytes": {"b64": base64.b64encode(file.read()).decode("ascii")}})
    body = json.dumps({"signature_name": "serving_bytes", "instances": instances}).encode()
    request = urllib.request.Request(
        f"{url}/v1/models/{model}:predict", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)["predictions"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", help="JPEG/PNG/GIF/BMP files to classify")
    parser.add_argument(
        "--model", required=True, help="the model name TF Serving serves (the --name of keras-resnet export)"
    )
    parser.add_argument(
        "--url", default="http://localhost:8501", help="TF Serving's REST address (default http://localhost:8501)"
    )
    args = parser.parse_args(argv)
    predictions = predict(args.images, args.model, args.url)
    for path, prediction in zip(args.images, predictions):
        best = ", ".join(
            f"{label} {score:.3f}" for label, score in zip(prediction["top_k_labels"], prediction["top_k_scores"])
        )
        print(f"{path}: {best}")
    return predictions


if __name__ == "__main__":
    main()
