"""The staging engine (:mod:`.engine`): patches in, ensemble results and Grad-CAM out; and the
PHI-free record of a study's last staging result kept with its annotations (:mod:`.record`)."""
