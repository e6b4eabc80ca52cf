"""Writes the example data sets of configs/ from scikit-learn's bundled ones.

  /usr/bin/python3 configs/data/make_examples.py   # needs python3-sklearn

Each is split 75/25 into training and test sets with seed 0 (stratified by
class for the classifications):
  breast_cancer_{train,test}.csv   569 tumours, 30 features, the target column
                                   "diagnosis" as text (malignant, benign)
  diabetes_{train,test}.csv        442 patients, 10 features, the target
                                   column "progression" (a number)
  digits_{train,test}_{x,y}.npy    1,797 8x8 images of digits 0-9 as (n, 8, 8)
                                   uint8 and their labels as int64
"""
import csv
import os

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main():
    cancer = datasets.load_breast_cancer()
    labels = np.array(cancer.target_names)[cancer.target]
    x_train, x_test, y_train, y_test = train_test_split(
        cancer.data, labels, test_size=0.25, random_state=0, stratify=labels)
    header = list(cancer.feature_names) + ["diagnosis"]
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        write_csv(os.path.join(HERE, f"breast_cancer_{name}.csv"), header,
                  [[repr(float(v)) for v in row] + [label] for row, label in zip(x, y)])

    diabetes = datasets.load_diabetes(scaled=False)
    x_train, x_test, y_train, y_test = train_test_split(
        diabetes.data, diabetes.target, test_size=0.25, random_state=0)
    header = list(diabetes.feature_names) + ["progression"]
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        write_csv(os.path.join(HERE, f"diabetes_{name}.csv"), header,
                  [[repr(float(v)) for v in row] + [repr(float(t))] for row, t in zip(x, y)])

    digits = datasets.load_digits()
    images = digits.images.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target.astype(np.int64), test_size=0.25, random_state=0,
        stratify=digits.target)
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        np.save(os.path.join(HERE, f"digits_{name}_x.npy"), np.ascontiguousarray(x))
        np.save(os.path.join(HERE, f"digits_{name}_y.npy"), y)


if __name__ == "__main__":
    main()
