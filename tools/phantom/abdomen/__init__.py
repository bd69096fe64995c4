"""The abdomen (SynthRAD2025 Task 1 region "Abdomen"): its anatomy's ranges, its solids, its label map and its
planning structures.

The field of view runs from the lung bases under the diaphragm's domes (top slices) down towards the iliac crests:
40-60 slices of 3 mm and 350-480 x 250-330 voxels of 1 mm in-plane by default (the body, and the arms, may be cut
at its edges). Drawn (mm; the default's ranges - :class:`AbdomenAnatomy` gives the engine's and the unseen set's):

* body: an ellipse (half-width 150-180, anterior half-depth 105-130) with smooth perturbations, a slow change with
  height and a flat back (the table); skin, subcutaneous fat (8-30; with obesity, the engine's extra fat, 0-45,
  grows the outline, the belly most, and a third of it goes inside the abdominal wall), the wall's muscle band
  (8-14, thicker at the flanks, a fat plane between the obliques); arms at the sides in 20 % of the cases
  (otherwise raised out of the field of view);
* inside the wall: visceral fat, mottled in front of the spine with soft tissue (collapsed bowel, mesentery) - the
  fatter the patient, the less;
* the stomach (left upper quadrant: fundus, body, antrum; thick wall, content, gas anteriorly above a horizontal
  fluid level, 10-50 % of its depth);
* solid organs: the liver (right lobe under the right dome, left lobe across the midline, caudate lobe; scale
  0.9-1.1; hepatic and portal veins in it), the gallbladder (80 %), the spleen (along the left posterior ribs,
  hollow towards the stomach), the kidneys (the right 10-25 lower, hilum facing forwards and inwards, sinus fat and
  pelvis) in perirenal fat (more in fat patients), the pancreas (head, body and tail across the spine);
* the bowel, in the space the organs leave: 8-15 small-bowel loops (radius 10-20, each holding gas with a chance
  of 30-70 %, the gas above a horizontal gas-fluid level: the patient lies supine), the duodenum's C round the
  pancreatic head, the colon (ascending, transverse, descending; radius 15-25) with gas and mottled stool;
* the thoracic base: the diaphragm (two domes, the right one 0-30 below the top slice and the higher, a central
  tendon between them, recesses falling furthest behind), the lungs above it - so the top slices show lung behind
  and beside the liver and spleen - with their vessels, the heart's base on the central tendon;
* the target: a tumour (radius 12-25, soft tissue) deep in the liver (70 %) or in the pancreas' head or body;
* vessels: the aorta (its wall calcified in 30 %: bright on CT, invisible on MR; its bifurcation when in view), the
  inferior vena cava, renal, portal, splenic and mesenteric vessels;
* muscles: paraspinal, quadratus lumborum, psoas (from L1, widening downwards), the diaphragmatic crura;
* skeleton (cortex and marrow): the lower thoracic and lumbar vertebrae (bodies with lordosis, discs, pedicles,
  laminae, spinous, transverse and articular processes), the canal (epidural fat, CSF, the cord ending in the conus
  at L1-L2, the cauda equina below), the lower ribs (T8-T12's: from the spine round the chest wall and down), the
  iliac crests when the field of view reaches L4.

Structures: "target"; "liver" and "pancreas" (each without the target); "kidney_left" and "kidney_right" (left =
+x, sinus included); "bowel" (small bowel, duodenum and colon: wall, content, gas); "stomach" (apart from the
bowel); "spinal_cord" (cord, conus, cauda equina). Each is what its organ still holds in the finished label map.

Every random quantity is drawn from ``rng`` in a fixed order: the case's values first (:func:`draw_case`), then the
spine, the field of view, the organs and the rest in the order they are painted. ``scale`` changes the voxels,
never the draws, so the anatomy in mm is the same at any scale.

The modules: ``ranges`` (:class:`AbdomenAnatomy`, its default, engine and unseen ranges), ``frame`` (the outline,
the case's first draws, the landmarks, the field of view), ``body`` (the canvas with its organ ownership, the body's
layers, the arms), ``viscera`` (mesentery, stomach, liver, gallbladder, spleen, kidneys, pancreas, bowel, the
diaphragm with the thoracic base, vessels), ``skeleton`` (spine, canal, ribs, iliac crests, the muscles by the
spine) and ``labels`` (:func:`draw_labels`: the order of the draw, the target, the structures).
"""
from tools.phantom.abdomen.frame import draw_case
from tools.phantom.abdomen.labels import draw_labels
from tools.phantom.abdomen.ranges import (
    ANATOMIES,
    DEFAULT_ABDOMEN,
    ENGINE_ABDOMEN,
    SPACING,
    UNSEEN_ABDOMEN,
    AbdomenAnatomy,
)

__all__ = ["ANATOMIES", "DEFAULT_ABDOMEN", "ENGINE_ABDOMEN", "SPACING", "UNSEEN_ABDOMEN", "AbdomenAnatomy",
           "draw_case", "draw_labels"]
